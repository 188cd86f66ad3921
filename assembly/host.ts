// Everything the core imports from its host (the bindings), in one place.

export declare namespace host {
  /**
   * Calls JavaScript handler `handle` of function `key`. The registration is
   * already off the stack; `keyGone` is `key` when it was the function's
   * last registration (the bindings may forget the function), else 0.
   */
  @external("host", "run")
  function run(handle: u32, key: u32, keyGone: u32): void;

  /** Registration `handle` was removed unrun; `keyGone` as for `run`. */
  @external("host", "released")
  function released(handle: u32, keyGone: u32): void;
}
