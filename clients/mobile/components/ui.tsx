/** Small shared pieces: buttons, badges, a progress bar, the toast. Touch targets are at least 44 points. */
import type { ReactNode } from "react";
import { Pressable, StyleSheet, Text, View, type StyleProp, type ViewStyle } from "react-native";

export const colors = {
  ink: "#14213d",
  muted: "#5c6479",
  line: "#d9dde6",
  paper: "#f5f6fa",
  card: "#ffffff",
  accent: "#1d4ed8",
  good: "#15803d",
  warn: "#b45309",
  bad: "#b91c1c",
};

export function Button({
  label,
  onPress,
  kind = "primary",
  disabled,
  style,
  testID,
}: {
  label: string;
  onPress: () => void;
  kind?: "primary" | "secondary" | "danger";
  disabled?: boolean;
  style?: StyleProp<ViewStyle>;
  testID?: string;
}) {
  return (
    <Pressable
      accessibilityRole="button"
      accessibilityState={{ disabled: !!disabled }}
      disabled={disabled}
      onPress={onPress}
      testID={testID}
      style={({ pressed }) => [
        styles.button,
        kind === "primary" && styles.primary,
        kind === "secondary" && styles.secondary,
        kind === "danger" && styles.danger,
        (pressed || disabled) && { opacity: disabled ? 0.5 : 0.8 },
        style,
      ]}
    >
      <Text style={[styles.buttonText, kind === "secondary" && { color: colors.accent }]}>{label}</Text>
    </Pressable>
  );
}

const STATUS_COLOURS: Record<string, string> = {
  pending: colors.muted,
  processing: colors.accent,
  processed: colors.good,
  failed: colors.bad,
  needs_review: colors.warn,
  confirmed: colors.good,
  waiting: colors.muted,
  sending: colors.accent,
};

export function Badge({ label, tone }: { label: string; tone?: string }) {
  const colour = STATUS_COLOURS[tone ?? label] ?? colors.muted;
  return (
    <View style={[styles.badge, { borderColor: colour }]}>
      <Text style={[styles.badgeText, { color: colour }]}>{label.replace("_", " ")}</Text>
    </View>
  );
}

export function ProgressBar({ fraction, label }: { fraction: number; label: string }) {
  const percent = Math.round(Math.min(Math.max(fraction, 0), 1) * 100);
  return (
    <View
      accessibilityRole="progressbar"
      accessibilityLabel={label}
      accessibilityValue={{ min: 0, max: 100, now: percent }}
      style={styles.track}
    >
      <View style={[styles.fill, { width: `${percent}%` }]} />
    </View>
  );
}

export function Screen({ children }: { children: ReactNode }) {
  return <View style={styles.screen}>{children}</View>;
}

export const styles = StyleSheet.create({
  screen: { flex: 1, backgroundColor: colors.paper },
  button: {
    minHeight: 44,
    paddingHorizontal: 16,
    borderRadius: 10,
    alignItems: "center",
    justifyContent: "center",
  },
  primary: { backgroundColor: colors.accent },
  secondary: { backgroundColor: colors.card, borderWidth: 1, borderColor: colors.line },
  danger: { backgroundColor: colors.bad },
  buttonText: { color: "#fff", fontWeight: "600", fontSize: 16 },
  badge: { borderWidth: 1, borderRadius: 999, paddingHorizontal: 8, paddingVertical: 2, alignSelf: "flex-start" },
  badgeText: { fontSize: 12, fontWeight: "600" },
  track: { height: 8, borderRadius: 4, backgroundColor: colors.line, overflow: "hidden" },
  fill: { height: 8, backgroundColor: colors.accent },
  input: {
    minHeight: 44,
    borderWidth: 1,
    borderColor: colors.line,
    borderRadius: 10,
    paddingHorizontal: 12,
    backgroundColor: colors.card,
    fontSize: 16,
    color: colors.ink,
  },
  label: { color: colors.muted, fontSize: 14, marginBottom: 4 },
  title: { color: colors.ink, fontSize: 22, fontWeight: "700" },
  text: { color: colors.ink, fontSize: 16 },
  small: { color: colors.muted, fontSize: 13 },
  error: { color: colors.bad, fontSize: 14 },
  card: { backgroundColor: colors.card, borderRadius: 12, padding: 14, borderWidth: 1, borderColor: colors.line },
});
