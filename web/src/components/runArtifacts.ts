// The run page's artifacts: the versions this run logged and those it used, each a link to its page.
// Loaded after the page shows, so that a slow or failed answer never holds the rest of the run back.

import { runArtifacts } from "../api/artifacts";
import type { ArtifactVersion } from "../api/schema";
import type { PageContext } from "./context";
import { h, message } from "./dom";
import { versionsTable } from "./versionsTable";

export function runArtifactsView(ctx: PageContext, entity: string, project: string, runId: string): HTMLElement {
  const box = h("div", { class: "run-artifacts", "data-testid": "run-artifacts", "data-state": "loading" },
    message("loading", "Loading artifacts…"));
  const part = (title: string, testid: string, versions: ArtifactVersion[]) =>
    h("div", { "data-testid": testid }, h("h3", {}, title),
      versionsTable(ctx, `${testid}-versions`, versions, { withName: true }));
  void Promise.all([
    runArtifacts(ctx.api, entity, project, runId, "logged"),
    runArtifacts(ctx.api, entity, project, runId, "used"),
  ]).then(([logged, used]) => {
    box.replaceChildren();
    if (logged.length === 0 && used.length === 0) box.append(message("empty", "This run logged and used no artifacts."));
    if (logged.length) box.append(part("Logged", "run-artifacts-logged", logged));
    if (used.length) box.append(part("Used", "run-artifacts-used", used));
    box.dataset["state"] = "ready";
  }, (e: unknown) => {
    box.replaceChildren(message("error", `Artifacts could not be loaded: ${String(e)}`));
    box.dataset["state"] = "error";
  });
  return box;
}
