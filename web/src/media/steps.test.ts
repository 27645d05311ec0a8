import { describe, expect, it } from "vitest";

import { allSteps, appendLogged, lastLoggedStep, nextChosenStep, valueAt } from "./steps";

const logged = (...steps: number[]) => steps.map((step) => ({ step, value: `v${step}` }));

describe("media steps", () => {
  it("the slider's steps are every run's, once each, ascending", () => {
    expect(allSteps([logged(0, 2, 4), logged(1, 2, 9)])).toEqual([0, 1, 2, 4, 9]);
    expect(allSteps([])).toEqual([]);
  });

  it("a run shows its value at the step, else the latest before it, else none", () => {
    const entries = logged(2, 4, 8);
    expect(valueAt(entries, 4)?.value).toBe("v4");
    expect(valueAt(entries, 7)?.value).toBe("v4");
    expect(valueAt(entries, 100)?.value).toBe("v8");
    expect(valueAt(entries, 1)).toBeNull();
    expect(valueAt([], 1)).toBeNull();
  });

  it("a live tail appends only the steps after those held", () => {
    const held = logged(0, 1, 2);
    expect(appendLogged(held, logged(1, 2, 3, 4)).map((e) => e.step)).toEqual([0, 1, 2, 3, 4]);
    expect(appendLogged([], logged(5)).map((e) => e.step)).toEqual([5]);
    expect(lastLoggedStep(held)).toBe(2);
    expect(lastLoggedStep(undefined)).toBe(-1);
  });

  it("follows the newest step when it was shown, else stays where the user put it", () => {
    expect(nextChosenStep([], null, [0, 1])).toBe(1);
    expect(nextChosenStep([0, 1], 1, [0, 1, 2])).toBe(2);
    expect(nextChosenStep([0, 1, 2], 1, [0, 1, 2, 3])).toBe(1);
    expect(nextChosenStep([0, 5, 9], 5, [0, 4, 9, 12])).toBe(4); // a run left: the nearest step before
    expect(nextChosenStep([3, 5, 9], 3, [4, 9])).toBe(4);
    expect(nextChosenStep([0, 1], 1, [])).toBeNull();
  });
});
