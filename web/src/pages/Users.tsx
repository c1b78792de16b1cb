/** Your account (change your password) and, for admins, the people who may use the console. */
import { type FormEvent, useState } from 'react';
import type { Role, User } from '@contract';
import { api } from '../api.js';
import { DataTable, type Column } from '../components/DataTable.js';
import { formatTime } from '../time.js';
import { useLoad } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { isAdmin, useMe } from '../session.js';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function ChangePassword() {
  const { t } = useI18n();
  const [cur, setCur] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string }>();
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (next !== again) {
      setMsg({ ok: false, text: t('users.mismatch') });
      return;
    }
    api.changePassword(cur, next).then(
      () => {
        setMsg({ ok: true, text: t('users.pwChanged') });
        setCur('');
        setNext('');
        setAgain('');
      },
      (err: unknown) => setMsg({ ok: false, text: errText(err) }),
    );
  };
  return (
    <form className="card form-card" onSubmit={submit} data-testid="password-form">
      <h2>{t('users.changePassword')}</h2>
      <label>
        {t('users.current')}
        <input type="password" name="current" autoComplete="current-password" value={cur} onChange={(e) => setCur(e.target.value)} required />
      </label>
      <label>
        {t('users.new')}
        <input type="password" name="new" autoComplete="new-password" minLength={10} value={next} onChange={(e) => setNext(e.target.value)} required />
      </label>
      <label>
        {t('users.repeat')}
        <input type="password" name="repeat" autoComplete="new-password" minLength={10} value={again} onChange={(e) => setAgain(e.target.value)} required />
      </label>
      <p className="muted small">{t('users.pwHint')}</p>
      {msg && (
        <p className={msg.ok ? 'note' : 'error'} role="status">
          {msg.text}
        </p>
      )}
      <div>
        <button className="primary" type="submit">
          {t('users.changePassword')}
        </button>
      </div>
    </form>
  );
}

function ManageUsers() {
  const { t, lang } = useI18n();
  const me = useMe();
  const users = useLoad(() => api.users(), []);
  const [name, setName] = useState('');
  const [pw, setPw] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const add = (e: FormEvent): void => {
    e.preventDefault();
    setError(undefined);
    setNotice(undefined);
    api.createUser(name.trim(), pw, role).then(
      (u) => {
        setNotice(t('users.added', { name: u.username }));
        setName('');
        setPw('');
        users.reload();
      },
      (err: unknown) => setError(errText(err)),
    );
  };
  const remove = (u: User): void => {
    if (!window.confirm(t('users.confirmRemove', { name: u.username }))) return;
    setError(undefined);
    setNotice(undefined);
    api.deleteUser(u.id).then(
      () => {
        setNotice(t('users.removed', { name: u.username }));
        users.reload();
      },
      (err: unknown) => setError(errText(err)),
    );
  };
  const cols: Column<User>[] = [
    { key: 'name', label: t('users.name'), value: (u) => u.username, render: (u) => <strong>{u.username}</strong> },
    { key: 'role', label: t('users.role'), value: (u) => u.role, render: (u) => <span className={`pill ${u.role === 'admin' ? 'pill-run' : ''}`}>{t(u.role === 'admin' ? 'users.role.admin' : 'users.role.viewer')}</span> },
    { key: 'created', label: t('users.created'), value: (u) => u.createdAt, render: (u) => <span className="nowrap small">{formatTime(u.createdAt, lang)}</span> },
    {
      key: 'actions',
      label: '',
      value: () => '',
      render: (u) =>
        u.id === me?.id ? (
          <span className="muted small">{t('users.you')}</span>
        ) : (
          <button className="link danger" onClick={() => remove(u)} data-testid={`remove-${u.username}`}>
            {t('users.remove')}
          </button>
        ),
    },
  ];
  return (
    <div className="card">
      <h2>{t('users.title')}</h2>
      {users.error && <p className="error">{users.error}</p>}
      <DataTable testId="users-table" columns={cols} rows={users.data ?? []} rowKey={(u) => u.id} initialSort={{ key: 'name', desc: false }} />
      <form className="inline-form" onSubmit={add} data-testid="add-user-form">
        <h3>{t('users.add')}</h3>
        <input name="username" placeholder={t('users.name')} value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
        <input name="password" type="password" autoComplete="new-password" placeholder={t('users.initialPassword')} value={pw} onChange={(e) => setPw(e.target.value)} required minLength={10} />
        <select name="role" value={role} onChange={(e) => setRole(e.target.value === 'admin' ? 'admin' : 'viewer')}>
          <option value="viewer">{t('users.role.viewer')}</option>
          <option value="admin">{t('users.role.admin')}</option>
        </select>
        <button className="primary" type="submit">
          {t('users.addButton')}
        </button>
      </form>
      <p className="muted small">{t('users.rolesHint')}</p>
      {error && <p className="error" role="alert">{error}</p>}
      {notice && <p className="note" role="status">{notice}</p>}
    </div>
  );
}

export function Users() {
  const { t } = useI18n();
  const me = useMe();
  return (
    <section className="page">
      <div className="page-head">
        <h1>{isAdmin(me) ? t('users.title') : t('users.account')}</h1>
        {me && (
          <span className="muted">
            {me.username} · {t(me.role === 'admin' ? 'users.role.admin' : 'users.role.viewer')}
          </span>
        )}
      </div>
      {isAdmin(me) && <ManageUsers />}
      <ChangePassword />
    </section>
  );
}
