;; The guest of bench/warm.mjs (SPEC G7): registers N handlers from its own
;; loop, which the core calls with call_indirect; each call counts.
(module
  (import "atexit" "register" (func $register (param i32 i32) (result i32)))
  (table (export "table") 2 funcref)
  (elem (i32.const 1) $handler)
  (global $calls (mut i32) (i32.const 0))
  (func $handler (param i32) (global.set $calls (i32.add (global.get $calls) (i32.const 1))))
  (func (export "register_many") (param $n i32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (drop (call $register (i32.const 1) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "calls") (result i32) (global.get $calls)))
