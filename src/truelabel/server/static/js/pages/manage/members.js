// "Members": who works on the project and in which role (POST /members sets a role, also a
// new one; DELETE /members/{user} takes someone out).
import { api } from "../../api.js";
import { h, replace } from "../../dom.js";
import { confirmButton, section, statusLine } from "./common.js";

export const id = "members";
export const title = "Members";

const ROLES = ["annotator", "reviewer", "manager", "admin"];

function roleSelect(idAttr, value, label) {
  return h("select", { id: idAttr, "aria-label": label },
    ROLES.map((r) => h("option", { value: r, selected: r === value ? true : undefined }, r)));
}

export async function mount(panel, ctx) {
  const status = statusLine("members-status");
  const body = h("tbody", { id: "members-body" });

  const load = async () => {
    const members = await api.get(ctx.url("/members"));
    replace(body, members.map((m) => {
      const sel = roleSelect(`role-${m.username}`, m.role, `Role of ${m.username}`);
      sel.addEventListener("change", async () => {
        status.busy();
        try {
          await api.post(ctx.url("/members"), { username: m.username, role: sel.value });
          status.ok(`${m.username} is now ${sel.value}.`);
        } catch (err) { status.fail(err); sel.value = m.role; }
      });
      const remove = confirmButton("Remove", `Remove ${m.username}`, async () => {
        status.busy();
        try {
          await api.del(ctx.url(`/members/${encodeURIComponent(m.username)}`));
          status.ok(`${m.username} was removed; their annotations stay.`);
          await load();
        } catch (err) { status.fail(err); }
      }, { id: `remove-${m.username}` });
      return h("tr", { dataset: { username: m.username } },
        h("td", {}, m.username), h("td", {}, m.display_name || ""), h("td", {}, sel), h("td", {}, remove));
    }));
  };

  const user = h("input", { id: "member-username", required: true, maxlength: "100", autocomplete: "off" });
  const role = roleSelect("member-role", "annotator", "Role");
  const form = h("form", { class: "row-form", id: "member-form" },
    h("label", {}, "Username", user), h("label", {}, "Role", role),
    h("button", { class: "btn btn-primary", type: "submit", id: "member-add" }, "Add to project"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.busy();
    try {
      await api.post(ctx.url("/members"), { username: user.value.trim(), role: role.value });
      status.ok(`${user.value.trim()} added as ${role.value}.`);
      user.value = "";
      await load();
    } catch (err) { status.fail(err); }
  });

  replace(panel,
    section("Add a member", "member-add-h", form, status),
    section("Members", "members-h", h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["Username", "Name", "Role", ""].map((t) => h("th", { scope: "col" }, t)))), body)));
  if (ctx.role === "admin") {
    const names = await api.get("/api/users").catch(() => []);
    user.setAttribute("list", "member-users");
    panel.append(h("datalist", { id: "member-users" }, names.map((u) => h("option", { value: u.username }))));
  }
  await load();
}
