// esbuild bundles imported stylesheets into their own file.
declare module '*.css';
