// Where the browser keeps the API key it signs in with.

const KEY = "tracklet.apiKey";

export interface KeyStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function storedKey(store: KeyStore = localStorage): string | null {
  const key = store.getItem(KEY);
  return key && key.trim() ? key.trim() : null;
}

export function saveKey(key: string, store: KeyStore = localStorage): void {
  store.setItem(KEY, key.trim());
}

export function forgetKey(store: KeyStore = localStorage): void {
  store.removeItem(KEY);
}
