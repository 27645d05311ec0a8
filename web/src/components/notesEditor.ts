// Editable notes: a text area and a Save button (enabled once the text changed).

import { h } from "./dom";

export function notesEditor(initial: string | null, save: (notes: string) => Promise<string | null>): HTMLElement {
  let saved = initial ?? "";
  const area = h("textarea", { rows: 3, "data-testid": "notes", placeholder: "Notes about this run" });
  area.value = saved;
  const status = h("span", { class: "hint", "data-testid": "notes-status", role: "status" });
  const button = h("button", { type: "button", "data-testid": "notes-save", disabled: true }, "Save notes");
  area.addEventListener("input", () => {
    button.disabled = area.value === saved;
    status.textContent = "";
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Saving…";
    try {
      saved = (await save(area.value)) ?? "";
      status.textContent = "Saved";
    } catch (e) {
      button.disabled = false;
      status.textContent = `Not saved: ${String(e)}`;
    }
  });
  return h("div", { class: "notes-editor" }, area, h("div", {}, button, " ", status));
}
