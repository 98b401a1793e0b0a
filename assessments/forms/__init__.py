"""The application's forms (WTForms through Flask-WTF: every POST carries its CSRF token), by area."""
from .common import (
    Form,
    MultiCheckboxField,
    as_choices,
    first_error,
    known_choices,
    no_control_characters,
    platform_choices,
)
from .review import (
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
from .wizard import (
                     NewAssessmentForm,
                     field_value,
                     form_data_from_answers,
                     plain_choices,
                     plain_control,
                     step_form_class,
)

__all__ = [
    "AcceptResidualForm", "ApproveForm", "CommentForm", "DataSubjectViewsForm", "DpoAdviceForm", "Form", "LoginForm",
    "MeasureForm", "MultiCheckboxField", "NewAssessmentForm", "PriorConsultationForm", "RatingsForm",
    "RequestChangesForm", "ResolveForm", "RiskForm", "TreatmentForm", "VerdictForm", "as_choices", "field_value",
    "first_error", "form_data_from_answers", "known_choices", "no_control_characters", "plain_choices",
    "plain_control", "platform_choices", "step_form_class",
]
