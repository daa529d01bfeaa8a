// Named sign-in (serve --users): a session cookie the browser keeps (HttpOnly: scripts never see it).
// Writes made while signed in send `X-SF-Request: 1` and no token; the server records the signed-in name.
import { h, api, ApiError } from "./util.js";

export const session = { user: null, signIn: false, tokenWrites: false };

export async function loadSession() {
  try {
    const s = await api("/session");
    Object.assign(session, { user: s.user, signIn: s.sign_in, tokenWrites: s.token_writes });
  } catch {
    Object.assign(session, { user: null, signIn: false });
  }
  return session;
}

/** Headers for a write: the session's CSRF header when signed in, else the pasted bearer token. */
export function writeHeaders(token) {
  const headers = { "Content-Type": "application/json" };
  if (session.user) headers["X-SF-Request"] = "1";
  else if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

export function sessionWidget() {
  const box = h("div", { class: "session", "data-testid": "session" });
  const render = () => {
    if (!session.signIn) { box.replaceChildren(); return; }
    if (session.user) {
      const out = h("button", { class: "btn btn-small", "data-testid": "session-signout" }, "Sign out");
      out.addEventListener("click", async () => {
        await api("/session", { method: "DELETE" }).catch(() => null);
        await loadSession();
        render();
        window.dispatchEvent(new Event("sf:refresh"));
      });
      box.replaceChildren(h("span", { class: "session-user", "data-testid": "session-user" }, session.user), out);
      return;
    }
    const name = h("input", { class: "input input-small", placeholder: "name", autocomplete: "username",
      "data-testid": "session-name" });
    const password = h("input", { class: "input input-small", type: "password", placeholder: "password",
      autocomplete: "current-password", "data-testid": "session-password" });
    const msg = h("span", { class: "session-msg", "data-testid": "session-message", role: "status" });
    const form = h("form", { class: "session-form" }, name, password,
      h("button", { class: "btn btn-small btn-primary", type: "submit", "data-testid": "session-submit" }, "Sign in"), msg);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api("/session", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ name: name.value.trim(), password: password.value }) });
        await loadSession();
        render();
        window.dispatchEvent(new Event("sf:refresh"));
      } catch (err) {
        msg.textContent = err instanceof ApiError && err.status === 401 ? "Wrong name or password." : `Sign-in failed: ${err.message}`;
      }
    });
    box.replaceChildren(form);
  };
  render();
  return box;
}
