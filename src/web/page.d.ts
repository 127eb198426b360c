// The dashboard's page files are imported as their text (`./page/app.js?raw`): bundled by the build's raw plugin,
// loaded by scripts/text-loader.mjs under tsx.
declare module '*?raw' {
  const text: string;
  export default text;
}
