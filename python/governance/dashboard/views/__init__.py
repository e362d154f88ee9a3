"""Dashboard pages: each module defines ``render()``, registered in governance.dashboard.app."""
