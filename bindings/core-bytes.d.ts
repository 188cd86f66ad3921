// Types build/core-bytes.js, which scripts/embed-core.mjs generates from the
// release core; tsc does not emit this file, the script writes its own copy.
declare const coreBase64: string;
export default coreBase64;
