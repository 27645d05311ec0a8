// Home: the viewer's entities and their projects, with run counts and last activity.

import { h, message, table } from "../components/dom";
import type { PageContext } from "../components/context";
import { formatAgo } from "../lib/format";

export async function homePage(ctx: PageContext): Promise<HTMLElement> {
  const now = Date.now() / 1000;
  const sections = await Promise.all(
    ctx.viewer.entities.map(async (entity) => {
      const projects = await ctx.api.projects(entity.name);
      projects.sort((a, b) => (b.last_activity ?? 0) - (a.last_activity ?? 0));
      const body = projects.length
        ? table(
            "projects",
            ["Project", "Runs", "Last activity"],
            projects.map((p) => [
              ctx.link({ page: "project", entity: p.entity, project: p.name }, p.name),
              h("span", { "data-testid": "run-count" }, p.run_count),
              h("span", { title: p.last_activity ? new Date(p.last_activity * 1000).toISOString() : "" },
                formatAgo(p.last_activity, now)),
            ]),
          )
        // `tracklet ui` names the folder it searched, so a wrong DIR is plain to see
        : message("empty", ctx.viewer.local_folder ? `No runs in ${ctx.viewer.local_folder}` : "No projects yet.");
      return h("section", { class: "entity", "data-entity": entity.name },
        h("h2", {}, entity.name, h("span", { class: "kind" }, ` ${entity.kind}`)), body);
    }),
  );
  return h("main", { class: "page" }, h("h1", {}, "Projects"), sections);
}
