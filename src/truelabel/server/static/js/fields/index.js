// Every built-in field element. A new field type adds its module here.
import "./choice.js";
import "./multi-choice.js";
import "./spans.js";
import "./text.js";
import "./rating.js";

export { createField, knownFieldTypes, registerField } from "./registry.js";
