/** The in-app notice when one of my invoices is processed or fails; tapping it opens the invoice. */
import { useRouter } from "expo-router";
import { Pressable, StyleSheet, Text } from "react-native";
import { useSafeAreaInsets } from "react-native-safe-area-context";
import { useApp } from "../src/app-context";
import { colors } from "./ui";

export function ToastHost() {
  const { toast, dismissToast } = useApp();
  const router = useRouter();
  const insets = useSafeAreaInsets();
  if (!toast) return null;
  return (
    <Pressable
      accessibilityRole="alert"
      testID="toast"
      onPress={() => {
        dismissToast();
        router.push(`/invoices/${toast.invoiceId}`);
      }}
      style={[styles.toast, { top: insets.top + 8 }, toast.kind === "failed" && { backgroundColor: colors.bad }]}
    >
      <Text style={styles.text}>{toast.text}</Text>
      <Text style={styles.hint}>Tap to open</Text>
    </Pressable>
  );
}

const styles = StyleSheet.create({
  toast: {
    position: "absolute",
    left: 12,
    right: 12,
    zIndex: 10,
    backgroundColor: colors.good,
    borderRadius: 12,
    padding: 14,
    shadowColor: "#000",
    shadowOpacity: 0.2,
    shadowRadius: 8,
    elevation: 6,
  },
  text: { color: "#fff", fontSize: 16, fontWeight: "600" },
  hint: { color: "#e8f5ec", fontSize: 13, marginTop: 2 },
});
