// A hook's definition as the editor saves it (PUT /api/hooks/<id>).
// Settings the editor's form does not show: a save carries them as they are
// (a PUT replaces the whole definition, so leaving them out would reset them).
export const NOT_IN_FORM = ["retentionS", "callback", "route", "debugHeaders", "trace", "ordering", "shadow"];
