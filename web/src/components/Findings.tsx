/** The conclusions: one card per finding, severity colour, one sentence, suggestions, evidence on demand. */
import type { Finding } from '@contract';
import { useI18n } from '../i18n.js';

/** Text with `command` spans shown as code. */
export function RichText({ text }: { text: string }) {
  const parts = text.split('`');
  if (parts.length < 3) return <>{text}</>;
  return <>{parts.map((p, i) => (i % 2 === 1 && i < parts.length - 1 ? <code key={i}>{p}</code> : <span key={i}>{p}</span>))}</>;
}

export function SeverityBadge({ severity }: { severity: string }) {
  const { t } = useI18n();
  const key = severity === 'critical' || severity === 'warning' ? severity : 'info';
  return <span className={`sev sev-${key}`}>{t(`sev.${key}`)}</span>;
}

export function Findings({ findings }: { findings: Finding[] }) {
  const { t } = useI18n();
  if (findings.length === 0) return <p className="finding-ok" data-testid="no-findings">✓ {t('result.noFindings')}</p>;
  return (
    <ol className="findings" data-testid="findings">
      {findings.map((f, i) => (
        <li key={`${f.id}-${i}`} className={`finding finding-${f.severity}`} data-finding={f.id}>
          <div className="finding-head">
            <SeverityBadge severity={f.severity} />
            <strong className="finding-title">{f.title}</strong>
            <code className="finding-id">{f.id}</code>
          </div>
          <p className="finding-conclusion">
            <RichText text={f.conclusion} />
          </p>
          {f.suggestions.length > 0 && (
            <div className="finding-suggestions">
              <span className="label">{t('result.suggestions')}</span>
              <ul>
                {f.suggestions.map((s, j) => (
                  <li key={j}>
                    <RichText text={s} />
                  </li>
                ))}
              </ul>
            </div>
          )}
          {Object.keys(f.evidence).length > 0 && (
            <details className="evidence">
              <summary>{t('result.evidence')}</summary>
              <pre>{JSON.stringify(f.evidence, null, 2)}</pre>
            </details>
          )}
        </li>
      ))}
    </ol>
  );
}
