import { describe, expect, it } from "vitest";

import { mediaKeys, mediaLabel, mediaSections } from "./mediaKeys";

describe("media keys", () => {
  it("keeps known types, drops internal keys, sorts", () => {
    expect(mediaKeys({ weights: "histogram", samples: "image-file", _hidden: "image-file", "a._b": "images",
                       odd: "molecule" })).toEqual([{ key: "samples", type: "image-file" }, { key: "weights", type: "histogram" }]);
    expect(mediaKeys(undefined)).toEqual([]);
  });

  it("sections by key prefix, the unprefixed ones last", () => {
    const keys = mediaKeys({ "val/images": "images", "train/hist": "histogram", clip: "video-file", "train/a": "image-file" });
    expect(mediaSections(keys)).toEqual([
      { name: "train", keys: ["train/a", "train/hist"] },
      { name: "val", keys: ["val/images"] },
      { name: "", keys: ["clip"] },
    ]);
  });

  it("names each type for people", () => {
    expect(mediaLabel("table-file")).toBe("table");
    expect(mediaLabel("html-file")).toBe("HTML");
  });
});
