// Sign in with an API key (kept in this browser's localStorage until "Sign out").

import { Api, ApiError } from "../api/client";
import type { Viewer } from "../api/schema";
import { h } from "../components/dom";
import { saveKey } from "../lib/auth";

export function signInPage(onSignedIn: (key: string, viewer: Viewer) => void): HTMLElement {
  const input = h("input", {
    id: "api-key", name: "api-key", type: "password", autocomplete: "current-password", required: true,
    placeholder: "API key", "data-testid": "api-key",
  });
  const error = h("p", { class: "message error", role: "alert", "data-testid": "signin-error", hidden: true });
  const button = h("button", { type: "submit", "data-testid": "signin-submit" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", "data-testid": "signin-form" },
    h("h1", {}, "Sign in to Tracklet"),
    h("label", { for: "api-key" }, "API key"),
    input,
    button,
    error,
    h("p", { class: "hint" }, "Your key is in ~/.config/tracklet/settings after `tracklet login`, or ask your administrator."),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    button.disabled = true;
    error.hidden = true;
    new Api(key)
      .viewer()
      .then((viewer) => {
        saveKey(key);
        onSignedIn(key, viewer);
      })
      .catch((e: unknown) => {
        error.textContent = e instanceof ApiError && e.status === 401 ? "That API key is not valid." : String(e);
        error.hidden = false;
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  return h("main", { class: "page" }, form);
}
