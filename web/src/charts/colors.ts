// A fixed palette, and the colour of each run in it (pure; tested).

export const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
] as const;

export function colorAt(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

/** `#rrggbb` with an alpha channel, for bands. */
export function withAlpha(hex: string, alpha: number): string {
  const a = Math.round(Math.max(0, Math.min(1, alpha)) * 255);
  return hex + a.toString(16).padStart(2, "0");
}

/**
 * Run colours by creation order: the project's oldest run takes the first colour, and a run that
 * starts later the next one, so a run has the same colour in table and charts, while runs arrive,
 * and after a reload (as long as no older run is deleted).
 */
export class RunColors {
  private readonly byId = new Map<string, string>();

  /** Gives colours to the runs that have none yet, oldest first. */
  assign(runs: readonly { run_id: string; created_at: number }[]): void {
    const fresh = runs.filter((r) => !this.byId.has(r.run_id)).sort((a, b) => a.created_at - b.created_at);
    for (const run of fresh) this.byId.set(run.run_id, colorAt(this.byId.size));
  }

  of(run: { run_id: string; created_at: number }): string {
    if (!this.byId.has(run.run_id)) this.assign([run]);
    return this.byId.get(run.run_id)!;
  }
}

/** Group colours: a colour per group key, in the order first asked (the runs table asks first, in
 *  its order), so a group's header in the table and its line in every chart match. */
export class GroupColors {
  private readonly byKey = new Map<string, string>();

  of(key: string): string {
    if (!this.byKey.has(key)) this.byKey.set(key, colorAt(this.byKey.size));
    return this.byKey.get(key)!;
  }
}
