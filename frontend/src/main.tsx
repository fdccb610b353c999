import './styles/mantine-styles';
import './styles/mantine-global-classes.css';
// After Mantine's styles: the theme's variables override the defaults there.
import './styles/theme.css';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './app';
import { startSession } from './lib/session/session';

const container = document.getElementById('root');
if (container === null) {
  throw new Error('index.html has no #root element');
}

// The boot refresh starts before React renders; protected routes wait for it.
startSession();

createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
