/** Who is logged in, for pages that show or hide what only an admin may do. */
import { createContext, useContext } from 'react';
import type { Me } from '@contract';

export const SessionContext = createContext<Me | undefined>(undefined);
export const useMe = (): Me | undefined => useContext(SessionContext);
export const isAdmin = (me: Me | undefined): boolean => me?.role === 'admin';
