// Lazy loading for the chart and media panels: tells when elements come near the viewport
// (IntersectionObserver), observing each only once it is in the document and laid out (after a frame),
// so that the runs table above the panels has its height and panels built before their page is
// attached are not all briefly "near". Without IntersectionObserver every element is near.

/** How far outside the viewport an element counts as near (so scrolling finds it drawn). Kept small: a
 *  panel's first fetch is large (all its runs), so only panels just below the fold should load early. */
const MARGIN = "100px 0px";

/** Frames to wait for the elements to be put in the document before giving up on observing them. */
const MAX_ATTACH_WAITS = 600;

export interface NearViewport {
  /** Whether elements are observed at all (false: every element is near from the start). */
  readonly lazy: boolean;
  observe(el: HTMLElement): void;
  unobserve(el: HTMLElement): void;
}

export function nearViewport(onChange: (el: Element, near: boolean) => void): NearViewport {
  const observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver((entries) => {
    for (const entry of entries) onChange(entry.target, entry.isIntersecting);
  }, { rootMargin: MARGIN });
  const pending = new Set<HTMLElement>();
  let frame = 0;
  let attachedOnce = false;
  let waits = 0;

  function observePending(): void {
    frame = 0;
    for (const el of [...pending]) {
      if (el.isConnected) {
        attachedOnce = true;
        pending.delete(el);
        observer!.observe(el);
      }
    }
    // Not in the document yet: try again next frame; give up once a view left the document, or never
    // made it there (a newer render won).
    if (!attachedOnce) waits += 1;
    if (pending.size > 0 && !attachedOnce && waits < MAX_ATTACH_WAITS) frame = requestAnimationFrame(observePending);
  }

  return {
    lazy: observer !== null,
    observe(el: HTMLElement): void {
      if (!observer) return;
      pending.add(el);
      if (!frame) frame = requestAnimationFrame(observePending);
    },
    unobserve(el: HTMLElement): void {
      pending.delete(el);
      observer?.unobserve(el);
    },
  };
}
