// Editable labels (a run's tags, a version's aliases): remove one with its ×, add one with the field
// (Enter or Add). Each change is saved at once; the saved list is what the server answers.

import { h } from "./dom";

export interface LabelsEditorOptions {
  /** One label, for test ids and labels: "tag" gives tag, tag-input, tag-add, "Remove tag x". */
  noun: string;
  /** Many: "tags" gives the list's test id "tags" and the status' "tags-status". */
  plural: string;
  initial: string[];
  /** Saves the list; resolves to the list as saved. */
  save(labels: string[]): Promise<string[]>;
  /** Labels shown without a × (the server's). */
  locked?(label: string): boolean;
  /** Why a label cannot be added (null: it can); a duplicate is otherwise ignored. */
  problem?(label: string, labels: readonly string[]): string | null;
  /** The list to save after adding a label (default: appended). */
  withLabel?(labels: readonly string[], label: string): string[];
  /** The list to save after removing one (default: the others). */
  withoutLabel?(labels: readonly string[], label: string): string[];
  /** The order they are shown in (default: as saved). */
  shown?(labels: readonly string[]): string[];
  placeholder?: string;
}

export function labelsEditor(options: LabelsEditorOptions): HTMLElement {
  const { noun, plural } = options;
  let labels = [...options.initial];
  const withLabel = options.withLabel ?? ((list, label) => [...list, label]);
  const withoutLabel = options.withoutLabel ?? ((list, label) => list.filter((l) => l !== label));
  const list = h("span", { class: "tags", "data-testid": plural });
  const status = h("span", { class: "hint", "data-testid": `${plural}-status`, role: "status" });
  const input = h("input", { type: "text", placeholder: options.placeholder ?? `add a ${noun}`,
                             "data-testid": `${noun}-input`, size: 12 });

  const commit = async (next: string[]) => {
    status.textContent = "Saving…";
    try {
      labels = await options.save(next);
      status.textContent = "Saved";
    } catch (e) {
      status.textContent = `Not saved: ${String(e)}`;
    }
    draw();
  };
  const chip = (label: string) => {
    if (options.locked?.(label)) {
      return h("span", { class: "tag locked", "data-testid": noun, title: "set by the server" }, label);
    }
    return h("span", { class: "tag", "data-testid": noun }, label,
      h("button", { type: "button", class: "link remove", title: `Remove ${label}`, "aria-label": `Remove ${noun} ${label}`,
                    onclick: () => void commit(withoutLabel(labels, label)) }, "×"));
  };
  const draw = () => {
    list.replaceChildren(...(options.shown ? options.shown(labels) : labels).map(chip));
  };
  const add = () => {
    const label = input.value.trim();
    if (!label) return;
    const problem = options.problem?.(label, labels) ?? null;
    if (problem) {
      status.textContent = problem; // the text stays in the field, to be corrected
      return;
    }
    input.value = "";
    if (!labels.includes(label)) void commit(withLabel(labels, label));
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") add();
  });
  draw();
  return h("span", { class: "labels-editor" }, list, input,
    h("button", { type: "button", "data-testid": `${noun}-add`, onclick: add }, "Add"), " ", status);
}
