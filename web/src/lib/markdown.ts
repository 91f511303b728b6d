// Agent replies and notes are Markdown. The renderer (micromark with GFM
// tables, strikethrough and bare links) loads on first use, outside the
// initial bundle; until then the text shows as written.
//
// Safe by construction: micromark escapes any raw HTML in the source and
// drops link and image addresses outside http(s), mailto and relative ones.

type Render = (source: string) => string;

let loading: Promise<Render> | null = null;

/** The HTML for `source`. */
export function renderMarkdown(source: string): Promise<string> {
  loading ??= import('./markdown-render').then((module) => module.render);
  return loading.then((render) => render(source));
}
