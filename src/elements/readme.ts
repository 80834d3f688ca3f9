// An element's description: the first paragraph of its README.md that is not
// a heading, folded onto one line.

export function firstParagraph(markdown: string): string {
  const paragraphs = markdown.split(/\r?\n\s*\r?\n/);
  for (const p of paragraphs) {
    const lines = p
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#') && !/^[=-]{3,}$/.test(l));
    if (lines.length > 0) return lines.join(' ');
  }
  return '';
}
