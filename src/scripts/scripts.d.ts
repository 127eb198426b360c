// The constant host scripts are real .sh files (shellchecked), imported as their text:
// bundled by esbuild's text loader, loaded by scripts/text-loader.mjs under tsx.
declare module '*.sh' {
  const script: string;
  export default script;
}
