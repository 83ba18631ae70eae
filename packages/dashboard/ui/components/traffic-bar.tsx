/** An endpoint's traffic split as a stacked bar, with a legend that says each share in words. */
import { formatPercent } from '../format.js';

/** `traffic`: deployment name → percent. `label` names the bar for assistive technology (e.g. the endpoint). */
export function TrafficBar(props: { readonly traffic: Readonly<Record<string, number>>; readonly label: string }) {
  const shares = Object.entries(props.traffic);
  const total = shares.reduce((sum, [, percent]) => sum + Math.max(0, percent), 0);
  const description = shares.map(([name, percent]) => `${name} ${formatPercent(percent)}`).join(', ');
  return (
    <div class="traffic">
      <div class="traffic-bar" role="img" aria-label={`${props.label}: ${description === '' ? 'no traffic' : description}`}>
        {shares.map(([name, percent], i) => (
          <div
            key={name}
            class={`traffic-segment swatch-${i % 6}`}
            title={`${name} ${formatPercent(percent)}`}
            // A width set through the style object is CSSOM, which the page's CSP allows (a style attribute it would not).
            style={{ width: `${total > 0 ? (Math.max(0, percent) / total) * 100 : 0}%` }}
          />
        ))}
      </div>
      <ul class="traffic-legend">
        {shares.map(([name, percent], i) => (
          <li key={name}>
            <span class={`swatch swatch-${i % 6}`} aria-hidden="true" /> <span class="traffic-name">{name}</span>{' '}
            <span data-field="weight" data-deployment={name}>
              {formatPercent(percent)}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
