/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { compression } from 'vite-plugin-compression2';

// Where `npm run dev` forwards /api; the Go server's default listen address.
const devApiTarget = process.env['LABREVIEW_DEV_API'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [
    react(),
    // The Go server serves these precompressed siblings directly (Accept-Encoding),
    // so nothing is compressed per request. Originals are kept for clients that
    // accept neither encoding.
    compression({
      algorithms: ['gzip', 'brotliCompress'],
      include: /\.(?:js|mjs|css|svg|html|json)$/,
      threshold: 1024,
      deleteOriginalAssets: false,
    }),
  ],
  resolve: {
    tsconfigPaths: true,
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // The CSP has no data: for scripts, styles or fonts: every asset must be a file.
    assetsInlineLimit: 0,
    sourcemap: false,
    // The password-strength chunk (zxcvbn-ts dictionaries, ~1.7 MB raw) is loaded
    // only when someone types a new password; every other chunk is far smaller.
    chunkSizeWarningLimit: 2_000,
  },
  server: {
    proxy: {
      '/api': { target: devApiTarget, changeOrigin: false },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/testing/setup-tests.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
