// Pages without their own module (not found): only the shared header.
import { initShell } from "../shell.js";

initShell();
