// Search snippets arrive HTML-escaped with `<mark>` around the matches. They
// are never inserted as HTML: the text is split on exactly those two tags,
// un-escaped, and rendered as text nodes (Svelte escapes them again), so a
// stray tag or a forged `<mark onclick=…>` stays visible text.

export interface SnippetPart {
  text: string;
  hit: boolean;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

function unescape(text: string): string {
  return text.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity]);
}

/** The parts of a snippet, with `hit` on the text between `<mark>` and `</mark>`. */
export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let hit = false;
  for (const piece of snippet.split(/(<mark>|<\/mark>)/)) {
    if (piece === '<mark>') hit = true;
    else if (piece === '</mark>') hit = false;
    else if (piece) parts.push({ text: unescape(piece), hit });
  }
  return parts;
}
