// Imports an optional peer dependency by a name given at run time. It stays
// out of the bundle (scripts/bundle.mjs copies it to build/ as it is), so
// that the comments telling Vite and webpack to leave this import alone
// survive, and a browser app that never uses the peer bundles without it.
export const importOptional = (name) => import(/* webpackIgnore: true */ /* @vite-ignore */ name);
