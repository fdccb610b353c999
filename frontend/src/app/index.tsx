import { AppProvider } from './provider';
import { AppRouter } from './router';

/** App is the root component. */
export function App() {
  return (
    <AppProvider>
      <AppRouter />
    </AppProvider>
  );
}
