// A project's tabs: its workspace (runs and charts) and its artifacts.

import type { PageContext } from "./context";
import { h } from "./dom";

export type ProjectTab = "workspace" | "artifacts";

export function projectTabs(ctx: PageContext, entity: string, project: string, current: ProjectTab): HTMLElement {
  const tab = (which: ProjectTab, label: string) => {
    const link = ctx.link(which === "workspace" ? { page: "project", entity, project } : { page: "artifacts", entity, project },
      label);
    link.className = which === current ? "tab current" : "tab";
    link.dataset["testid"] = `tab-${which}`;
    if (which === current) link.setAttribute("aria-current", "page");
    return link;
  };
  return h("nav", { class: "tabs", "data-testid": "project-tabs" }, tab("workspace", "Workspace"), tab("artifacts", "Artifacts"));
}
