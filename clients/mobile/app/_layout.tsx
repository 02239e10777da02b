import { Stack } from "expo-router";
import { StatusBar } from "expo-status-bar";
import { SafeAreaProvider } from "react-native-safe-area-context";
import { PushOpener } from "../components/push-opener";
import { ToastHost } from "../components/toast";
import { AppProvider } from "../src/app-context";

export default function RootLayout() {
  return (
    <SafeAreaProvider>
      <AppProvider>
        <StatusBar style="dark" />
        <Stack screenOptions={{ headerTintColor: "#1d4ed8" }}>
          <Stack.Screen name="index" options={{ title: "My invoices" }} />
          <Stack.Screen name="sign-in" options={{ title: "Sign in", headerBackVisible: false }} />
          <Stack.Screen name="capture" options={{ title: "New invoice" }} />
          <Stack.Screen name="queue" options={{ title: "Waiting to send" }} />
          <Stack.Screen name="invoices/[id]" options={{ title: "Invoice" }} />
        </Stack>
        <ToastHost />
        <PushOpener />
      </AppProvider>
    </SafeAreaProvider>
  );
}
