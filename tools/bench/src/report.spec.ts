import { replaceSection } from './report';

describe('replaceSection', () => {
  const analysis = '# Benchmarks\n\nHand-written analysis.\n';

  it('appends the marked section to a file without one', () => {
    expect(replaceSection(analysis, 'bench', 'figures v1')).toBe(`${analysis}\n<!-- bench:begin -->\nfigures v1\n<!-- bench:end -->\n`);
  });

  it('replaces only the marked section, keeping the text around it and other sections', () => {
    const document = `${analysis}\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\nMore analysis.\n\n<!-- soak:begin -->\nsoak\n<!-- soak:end -->\n`;
    const updated = replaceSection(document, 'bench', 'new figures');
    expect(updated).toBe(
      `${analysis}\n<!-- bench:begin -->\nnew figures\n<!-- bench:end -->\n\nMore analysis.\n\n<!-- soak:begin -->\nsoak\n<!-- soak:end -->\n`,
    );
    expect(replaceSection(updated, 'bench', 'new figures')).toBe(updated);
  });

  it('refuses a begin marker without its end rather than guessing', () => {
    expect(() => replaceSection('<!-- bench:begin -->\nhalf', 'bench', 'x')).toThrow(
      '<!-- bench:begin --> has no <!-- bench:end --> after it',
    );
  });
});
