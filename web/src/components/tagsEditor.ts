// Editable tags: remove one with its ×, add one with the field (Enter or Add). Each change is saved at once.

import { h } from "./dom";

export function tagsEditor(initial: string[], save: (tags: string[]) => Promise<string[]>): HTMLElement {
  let tags = [...initial];
  const list = h("span", { class: "tags", "data-testid": "tags" });
  const status = h("span", { class: "hint", "data-testid": "tags-status", role: "status" });
  const input = h("input", { type: "text", placeholder: "add a tag", "data-testid": "tag-input", size: 12 });

  const commit = async (next: string[]) => {
    status.textContent = "Saving…";
    try {
      tags = await save(next);
      status.textContent = "Saved";
    } catch (e) {
      status.textContent = `Not saved: ${String(e)}`;
    }
    draw();
  };
  const draw = () => {
    list.replaceChildren(...tags.map((tag) => h("span", { class: "tag", "data-testid": "tag" }, tag,
      h("button", { type: "button", class: "link remove", title: `Remove ${tag}`, "aria-label": `Remove tag ${tag}`,
                    onclick: () => void commit(tags.filter((t) => t !== tag)) }, "×"))));
  };
  const add = () => {
    const tag = input.value.trim();
    if (!tag) return;
    input.value = "";
    if (!tags.includes(tag)) void commit([...tags, tag]);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") add();
  });
  draw();
  return h("span", { class: "tags-editor" }, list, input,
    h("button", { type: "button", "data-testid": "tag-add", onclick: add }, "Add"), " ", status);
}
