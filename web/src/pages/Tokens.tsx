import { useState } from 'react';
import type { TokenScope } from '@contract';
import { ApiError, api } from '../api.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { formatTime } from '../time.js';
import { useLoad } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { useMe } from '../session.js';

type Token = Awaited<ReturnType<typeof api.tokens>>[number];

/**
 * API tokens for AI assistants (the console's /mcp): an admin issues one to a user with a scope (read,
 * or read + diagnose, the latter for admins only), sees its secret once, and revokes it.
 */
export function Tokens() {
  const { t, lang } = useI18n();
  const me = useMe();
  const tokens = useLoad(() => api.tokens(), [], 30000);
  const users = useLoad(() => api.users(), []);
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('read');
  const [userId, setUserId] = useState('');
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (me?.role !== 'admin') return <p className="muted pad">{t('tokens.adminOnly')}</p>;

  const issue = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.createToken(name.trim(), scope, userId || undefined);
      setSecret({ name: r.token.name, secret: r.secret });
      setName('');
      tokens.reload();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (tok: Token): Promise<void> => {
    if (!window.confirm(t('tokens.confirmRevoke', { name: tok.name }))) return;
    try {
      await api.deleteToken(tok.id);
      tokens.reload();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };

  const columns: Column<Token>[] = [
    { key: 'name', label: t('tokens.name'), value: (k) => k.name, render: (k) => <span className="strong" data-testid="token-name">{k.name}</span> },
    { key: 'user', label: t('tokens.user'), value: (k) => k.username },
    { key: 'scope', label: t('tokens.scope'), value: (k) => k.scope, render: (k) => <span className={`pill ${k.scope === 'diagnose' ? 'pill-warn' : 'pill-ok'}`}>{t(`tokens.scope.${k.scope}`)}</span> },
    { key: 'created', label: t('tokens.created'), value: (k) => k.createdAt, render: (k) => <span className="nowrap">{formatTime(k.createdAt, lang)} · {k.createdBy}</span> },
    { key: 'used', label: t('tokens.lastUsed'), value: (k) => k.lastUsedAt ?? '', render: (k) => (k.lastUsedAt ? <span className="nowrap">{formatTime(k.lastUsedAt, lang)}</span> : <span className="muted">{t('tokens.never')}</span>) },
    {
      key: 'actions',
      label: '',
      value: () => 0,
      render: (k) => (
        <button type="button" className="link danger" onClick={() => void revoke(k)} data-testid="token-revoke">
          {t('tokens.revoke')}
        </button>
      ),
    },
  ];

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t('tokens.title')}</h1>
      </div>
      <p className="muted">{t('tokens.intro')}</p>
      <form
        className="card filters"
        data-testid="token-form"
        onSubmit={(e) => {
          e.preventDefault();
          void issue();
        }}
      >
        <label>
          {t('tokens.name')} <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={128} placeholder="assistant" data-testid="token-name-input" />
        </label>
        <label>
          {t('tokens.user')}{' '}
          <select value={userId} onChange={(e) => setUserId(e.target.value)} data-testid="token-user">
            <option value="">{me.username}</option>
            {(users.data ?? [])
              .filter((u) => u.id !== me.id)
              .map((u) => (
                <option key={u.id} value={u.id}>
                  {u.username}
                </option>
              ))}
          </select>
        </label>
        <label>
          {t('tokens.scope')}{' '}
          <select value={scope} onChange={(e) => setScope(e.target.value === 'diagnose' ? 'diagnose' : 'read')} data-testid="token-scope">
            <option value="read">{t('tokens.scope.read')}</option>
            <option value="diagnose">{t('tokens.scope.diagnose')}</option>
          </select>
        </label>
        <button type="submit" disabled={busy || name.trim() === ''} data-testid="token-issue">
          {t('tokens.issue')}
        </button>
      </form>
      {error && <p className="error" data-testid="token-error">{error}</p>}
      {secret && (
        <div className="card" data-testid="token-secret">
          <p>{t('tokens.secretOnce', { name: secret.name })}</p>
          <pre className="stack" data-testid="token-secret-value">{secret.secret}</pre>
          <button type="button" className="link" onClick={() => setSecret(null)}>
            {t('tokens.dismiss')}
          </button>
        </div>
      )}
      {tokens.error && <p className="error">{tokens.error}</p>}
      <div className="card">
        {tokens.data ? <DataTable testId="tokens-table" columns={columns} rows={tokens.data} rowKey={(k) => k.id} initialSort={{ key: 'created', desc: true }} emptyText={t('tokens.empty')} /> : <p className="muted">{t('common.loading')}</p>}
      </div>
    </section>
  );
}
