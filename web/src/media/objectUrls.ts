// Object URLs made for what one cell shows, revoked together when the cell shows something else or
// its panel goes: blob: URLs keep their bytes alive until revoked.

export class ObjectUrls {
  private urls: string[] = [];
  private children: ObjectUrls[] = [];
  private revoked = false;

  /** A blob: URL for `blob`, revoked with the others (at once if they already were). */
  create(blob: Blob): string {
    const url = URL.createObjectURL(blob);
    if (this.revoked) URL.revokeObjectURL(url);
    else this.urls.push(url);
    return url;
  }

  /** URLs for a part that is redrawn on its own (a table's page): revoked on their own, or with these. */
  child(): ObjectUrls {
    const child = new ObjectUrls();
    this.children = this.children.filter((c) => c.active);
    if (this.revoked) child.revokeAll();
    else this.children.push(child);
    return child;
  }

  get active(): boolean {
    return !this.revoked;
  }

  revokeAll(): void {
    this.revoked = true;
    for (const url of this.urls) URL.revokeObjectURL(url);
    for (const child of this.children) child.revokeAll();
    this.urls = [];
    this.children = [];
  }
}
