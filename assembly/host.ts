// Everything the core imports from its host (the bindings), in one place.

export declare namespace host {
  /**
   * Registration `handle` was removed without running. `lastOfFunction`:
   * its function has no registration left, so the bindings may forget it.
   */
  @external("host", "released")
  function released(handle: u32, lastOfFunction: bool): void;
}
