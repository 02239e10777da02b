import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ApiError, NetworkError } from "@invoicer/sdk";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { connectivity } from "./app/connectivity";
import { AppRouter } from "./app/router";
import "./styles.css";

const queryClient = new QueryClient({
  queryCache: new QueryCache({
    onError: (error) => {
      if (error instanceof NetworkError) connectivity.down();
    },
    onSuccess: () => connectivity.up(),
  }),
  defaultOptions: {
    queries: {
      // The API being down is retried until it is back; an API answer (4xx) is shown, not retried.
      retry: (failures, error) => error instanceof NetworkError || (!(error instanceof ApiError) && failures < 2),
      retryDelay: (attempt) => Math.min(1000 * 2 ** attempt, 5000),
      refetchOnWindowFocus: false,
      staleTime: 10_000,
    },
  },
});

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <AppRouter />
      </QueryClientProvider>
    </StrictMode>,
  );
}
