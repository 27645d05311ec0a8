// Telling a view that its page is gone: the app shell announces each page it shows, and a view that is
// not in the document then releases what it holds (object URLs). Pages have no teardown of their own.

const PAGE_SHOWN = "tracklet:page-shown";

/** Called by the app shell right after it puts a page in the document. */
export function announcePageShown(): void {
  window.dispatchEvent(new Event(PAGE_SHOWN));
}

/** Calls `release` once, when a page is shown and `element` is not in the document (it left, or its
 *  page was never shown because a newer one won). */
export function onPageLeft(element: Element, release: () => void): void {
  const listener = () => {
    if (element.isConnected) return;
    window.removeEventListener(PAGE_SHOWN, listener);
    release();
  };
  window.addEventListener(PAGE_SHOWN, listener);
}
