// What importing a .wasm file gives the bindings: its bytes as base64, as
// scripts/bundle.mjs embeds them (esbuild's base64 loader).
declare module "*.wasm" {
  const base64: string;
  export default base64;
}
