import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { debounce } from "../../src/lib/debounce";

describe("debounce", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("calls once, after the quiet period, with the last arguments", () => {
    const fn = vi.fn();
    const d = debounce(fn, 120);
    d("p");
    vi.advanceTimersByTime(100);
    d("pr");
    vi.advanceTimersByTime(100);
    d("pri");
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(119);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith("pri");
  });

  it("cancel drops the pending call; flush runs it now", () => {
    const fn = vi.fn();
    const d = debounce(fn, 120);
    d(1);
    d.cancel();
    vi.advanceTimersByTime(500);
    expect(fn).not.toHaveBeenCalled();
    d(2);
    d.flush();
    expect(fn).toHaveBeenCalledWith(2);
    vi.advanceTimersByTime(500);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
