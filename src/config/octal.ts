/** Permission bits as `chmod` spells them (0644). */
export function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
