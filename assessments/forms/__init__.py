"""The application's forms (WTForms through Flask-WTF: every POST carries its CSRF token), by area."""
from .account import NotificationSettingsForm
from .common import (
    Form,
    MultiCheckboxField,
    as_choices,
    first_error,
    known_choices,
    no_control_characters,
    platform_choices,
)
from .evidence import EvidenceForm, RemoveEvidenceForm
from .review import (
                     AdviceResponseForm,
                     ApproveForm,
                     CommentForm,
                     DataSubjectViewsForm,
                     DpoAdviceForm,
                     LoginForm,
                     RequestChangesForm,
                     ResolveForm,
                     VerdictForm,
)
from .risks import AcceptResidualForm, MeasureForm, PriorConsultationForm, RatingsForm, RiskForm, TreatmentForm
from .users import DeactivateUserForm, NewUserForm, ReactivateUserForm, ResetPasswordForm, RoleForm, UnlockUserForm
from .wizard import (
                     NewAssessmentForm,
                     field_value,
                     form_data_from_answers,
                     plain_choices,
                     plain_control,
                     step_form_class,
)

__all__ = [
    "AcceptResidualForm", "AdviceResponseForm", "ApproveForm", "CommentForm", "DataSubjectViewsForm",
    "DeactivateUserForm", "DpoAdviceForm", "EvidenceForm", "Form", "LoginForm", "MeasureForm", "MultiCheckboxField",
    "NewAssessmentForm", "NewUserForm", "NotificationSettingsForm", "PriorConsultationForm", "RatingsForm",
    "ReactivateUserForm", "RemoveEvidenceForm", "RequestChangesForm", "ResetPasswordForm", "ResolveForm", "RiskForm",
    "RoleForm", "TreatmentForm", "UnlockUserForm", "VerdictForm", "as_choices", "field_value",
    "first_error", "form_data_from_answers", "known_choices", "no_control_characters", "plain_choices",
    "plain_control", "platform_choices", "step_form_class",
]
