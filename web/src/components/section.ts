// A titled section of a page (the run page's, a version page's), with a test id from its title.

import { h } from "./dom";

export function section(title: string, ...body: Node[]): HTMLElement {
  const id = title.toLowerCase().replace(/[^a-z]+/g, "-");
  return h("section", { class: "run-section", "data-testid": `section-${id}` }, h("h2", {}, title), ...body);
}
