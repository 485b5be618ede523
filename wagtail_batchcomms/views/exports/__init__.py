"""The exports written in the background: "My exports" (the sidebar's Assemblies group), each
export's page with its progress and download link, and the permission-checked download."""
