import { type ReactNode, useCallback, useEffect, useMemo, useState } from 'react';
import type { Me } from '@contract';
import { api, setUnauthorizedHandler } from './api.js';
import { I18nContext, initialLang, type Lang, translator } from './i18n.js';
import { href, useRoute } from './router.js';
import { Login } from './pages/Login.js';
import { Fleet } from './pages/Fleet.js';
import { NodePage } from './pages/Node.js';
import { Result } from './pages/Result.js';
import { Compare } from './pages/Compare.js';
import { ConfigDiff } from './pages/ConfigDiff.js';
import { Alerts } from './pages/Alerts.js';
import { Users } from './pages/Users.js';
import { Crashes } from './pages/Crashes.js';
import { Tokens } from './pages/Tokens.js';
import { SessionContext } from './session.js';

type Session = { state: 'checking' } | { state: 'out' } | { state: 'in'; me: Me };

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const route = useRoute();

  const setLang = useCallback((l: Lang) => {
    localStorage.setItem('oscope.lang', l);
    setLangState(l);
  }, []);
  const i18n = useMemo(() => ({ lang, t: translator(lang), setLang }), [lang, setLang]);
  const { t } = i18n;

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t('app.title');
  }, [lang, t]);

  useEffect(() => {
    setUnauthorizedHandler(() => setSession({ state: 'out' }));
    api.me().then(
      (u) => setSession({ state: 'in', me: u }),
      () => setSession({ state: 'out' }),
    );
  }, []);

  let page: ReactNode;
  if (session.state === 'checking') page = <p className="muted pad">{t('common.loading')}</p>;
  else if (session.state === 'out') page = <Login onLogin={(me) => setSession({ state: 'in', me })} />;
  else {
    const [head, a, b] = route;
    if (head === 'nodes' && a) page = <NodePage key={a} nodeId={a} />;
    else if (head === 'tasks' && a) page = <Result key={a} taskId={a} />;
    else if (head === 'compare' && a && b) page = <Compare key={`${a}/${b}`} a={a} b={b} />;
    else if (head === 'config-diff') page = <ConfigDiff key={`${a ?? ''}/${b ?? ''}`} a={a} b={b} />;
    else if (head === 'alerts') page = <Alerts />;
    else if (head === 'users') page = <Users />;
    else if (head === 'crashes') page = <Crashes />;
    else if (head === 'tokens') page = <Tokens />;
    else page = <Fleet />;
  }

  const active = route[0] === 'alerts' || route[0] === 'users' || route[0] === 'crashes' || route[0] === 'tokens' || route[0] === 'config-diff' ? route[0] : 'fleet';
  const me = session.state === 'in' ? session.me : undefined;
  return (
    <I18nContext.Provider value={i18n}>
      <SessionContext.Provider value={me}>
      <header className="topbar">
        <a className="brand" href={href()}>
          <span className="logo">◎</span> oscope
        </a>
        {session.state === 'in' && (
          <nav>
            <a href={href()} className={active === 'fleet' ? 'active' : ''} data-testid="nav-fleet">
              {t('nav.fleet')}
            </a>
            <a href={href('alerts')} className={active === 'alerts' ? 'active' : ''} data-testid="nav-alerts">
              {t('nav.alerts')}
            </a>
            <a href={href('crashes')} className={active === 'crashes' ? 'active' : ''} data-testid="nav-crashes">
              {t('nav.crashes')}
            </a>
            {me?.role === 'admin' && (
              <a href={href('tokens')} className={active === 'tokens' ? 'active' : ''} data-testid="nav-tokens">
                {t('nav.tokens')}
              </a>
            )}
            <a href={href('config-diff')} className={active === 'config-diff' ? 'active' : ''} data-testid="nav-config-diff">
              {t('nav.configDiff')}
            </a>
            <a href={href('users')} className={active === 'users' ? 'active' : ''} data-testid="nav-users">
              {me?.role === 'admin' ? t('nav.users') : t('nav.account')}
            </a>
          </nav>
        )}
        <div className="spacer" />
        <button className="link" data-testid="lang-switch" onClick={() => setLang(lang === 'en' ? 'zh-CN' : 'en')}>
          {t('lang.switch')}
        </button>
        {session.state === 'in' && (
          <>
            <span className="muted small" data-testid="whoami">
              {session.me.username}
              {session.me.role === 'viewer' ? ` (${t('users.role.viewer')})` : ''}
            </span>
            <button
              className="link"
              onClick={() => {
                void api.logout().finally(() => setSession({ state: 'out' }));
              }}
            >
              {t('nav.logout')}
            </button>
          </>
        )}
      </header>
      <main>{page}</main>
      </SessionContext.Provider>
    </I18nContext.Provider>
  );
}
