import GuardHooks
print("hook-runner: under construction")
