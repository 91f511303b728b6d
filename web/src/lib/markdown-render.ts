// The Markdown renderer itself; imported lazily by markdown.ts.
import { micromark } from 'micromark';
import { gfmAutolinkLiteral, gfmAutolinkLiteralHtml } from 'micromark-extension-gfm-autolink-literal';
import { gfmStrikethrough, gfmStrikethroughHtml } from 'micromark-extension-gfm-strikethrough';
import { gfmTable, gfmTableHtml } from 'micromark-extension-gfm-table';

const options = {
  extensions: [gfmAutolinkLiteral(), gfmStrikethrough(), gfmTable()],
  htmlExtensions: [gfmAutolinkLiteralHtml(), gfmStrikethroughHtml(), gfmTableHtml()],
};

export function render(source: string): string {
  return micromark(source, options);
}
